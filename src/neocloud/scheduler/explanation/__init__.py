"""Explanation: why a job waits, in a reason code and a sentence, and when it is told.

`reasons` (the codes and their kinds), `sentences` (the words for people), `explaining` (which
reason a pass gives a job that neither starts nor preempts) and `announcing` (which waits a
pass reports at its end).
"""
