"""Accounting: exact integer splits of revenue (minor units) from outputs back to rights holders."""
