"""The what-if's economics: replayed runs rated and costed under a selling policy, and verdicts."""
