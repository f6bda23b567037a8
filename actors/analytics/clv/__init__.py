"""Customer lifetime value: BG/NBD + Gamma-Gamma by maximum likelihood, CLV per customer,
and a purchase-propensity classifier."""
