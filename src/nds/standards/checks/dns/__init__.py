"""DNS client with internet.nl's DNSSEC method, and the DNSSEC subtests."""

from nds.standards.checks.dns.dnssec import dnssec_subtests, mx_dnssec_subtests
from nds.standards.checks.dns.resolver import DnsClient, DnssecStatus, Lookup

__all__ = ["DnsClient", "DnssecStatus", "Lookup", "dnssec_subtests", "mx_dnssec_subtests"]
