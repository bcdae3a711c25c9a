"""Economics (pure core): what capacity costs (cost_model), the margin earned on it (margin/),
margin at risk (risk/) and what selling capacity would earn (whatif/)."""
