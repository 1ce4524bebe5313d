"""Group buying and supplies (团购, 保供): leaders, filings, offers and votes, orders,
per-building delivery; donations, loans and stock."""
