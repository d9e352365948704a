"""Reports: the model table and plot, the comparison report and curves, attention-map figures."""
