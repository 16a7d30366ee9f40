"""``mobilend bench``: the benchmark suite behind the README's performance table.

One module per area (``compute``: schedules, PD model, decisions; ``origination``: apply
→ paid out over HTTP; ``eod``: end of day through the job queue; ``console``: staff pages
on a large book), each figure recorded with a reference measured in the same run
(``references``) and the ratio. ``suite`` runs them; ``table`` writes the README table.
Nothing here asserts a time.
"""
