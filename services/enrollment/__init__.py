"""enrollment: who is enrolled where for which year, from the population baseline to paid and ended."""
