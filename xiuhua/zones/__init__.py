"""Risk zones (三区): versioned zone rules, zones with their clocks, public compound pages."""
