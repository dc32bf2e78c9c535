"""The pure core of enrollment: registration, the lifecycle, duplicates, refunds and baseline rows.

Nothing here touches a driver or a clock: dates and state come in as arguments,
decisions and events go out. The region rules themselves live in `shared.policy`.
"""
