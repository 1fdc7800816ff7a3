"""Citizen view ("Mijn gegevens, wie gebruikte ze?"): follows the chain across the federation."""
