"""The micro-grid passport (家园护照): four stamps per household and period, coverage per micro-grid."""
