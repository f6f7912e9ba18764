"""Match offers: "no done deals". An approved match is offered to both leaders, its exchanges held
(half-days reserved, no calendar invitation); it is booked only when both accept. Services only
(no Flask): the leader's answer, the coordinator's decisions on declines and lapses, the deadline
job, and the counts every page shows."""
