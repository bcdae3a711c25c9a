"""Explanation: why a job waits, in a reason code and a sentence.

`reasons` (the codes, their kinds, `Blocked`) and `sentences` (the words for people). Which
reason a pass gives a waiting job (`scheduler.explaining`) and which waits it reports at its end
(`scheduler.pass_end`) belong to the pass.
"""
