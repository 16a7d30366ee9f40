"""Servicing use cases: what happens to a loan between disbursement and payoff besides
end-of-day accrual — reminders by app push and SMS, auto-debit (代扣) with a retry plan,
bank transfers matched by reference (unmatched money held in suspense), overpayment
refunds, bounced-payment reversals, and the behaviour score that warns collections and
line reviews of loans likely to roll into the next bucket.

``close_business_date`` (in ``daily``) runs the steps that follow end of day for a
business date; the job queue (``mobilend.jobs``) calls it once per date, in order.
"""
