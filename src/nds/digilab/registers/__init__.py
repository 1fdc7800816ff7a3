"""Synthetic base registers for the DigiLab (BRP-, BAG- and HR-like), each a real API with LDV logging."""
