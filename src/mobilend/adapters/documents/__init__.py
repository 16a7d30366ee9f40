"""Documents a borrower downloads (contract, receipts) rendered as PDF."""
