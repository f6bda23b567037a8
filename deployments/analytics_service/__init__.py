"""The analytics service: plain Python over the stores and the analytics logic
(`actors.analytics`). `deployments/analytics.py` runs it as a Serve deployment; tests
use it in process."""
