"""The pure core of enrollment: the enrollment value and its lifecycle, registration, duplicates, refunds,
the cover of people who owe nothing (funding), baseline rows, and the refusals a use case raises.

Nothing here touches a driver or a clock: dates and state come in as arguments,
decisions and changed values go out. The region rules themselves live in `shared.policy`.
"""
