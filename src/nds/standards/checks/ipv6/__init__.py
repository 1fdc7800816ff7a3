"""IPv6 subtests for name servers, web servers and mail servers."""

from nds.standards.checks.ipv6.check import mx_ipv6_subtests, ns_ipv6_subtests, web_ipv6_subtests

__all__ = ["mx_ipv6_subtests", "ns_ipv6_subtests", "web_ipv6_subtests"]
