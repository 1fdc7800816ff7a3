"""The DigiLab's consumer applications: small programs that do real work through their Outway."""
