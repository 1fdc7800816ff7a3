"""The mail test: SPF, DMARC, DKIM, MX/null MX, STARTTLS with NCSC TLS rules, DANE (plus DNSSEC,
IPv6 and RPKI from their own packages). Entry point: ``run.check_mail``."""
