"""The pure core of the subsidy service: from certified statuses to a due per person and year."""
