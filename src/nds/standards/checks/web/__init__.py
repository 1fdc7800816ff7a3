"""The website test: HTTPS, TLS, certificates, HSTS, redirect, security headers, security.txt."""
