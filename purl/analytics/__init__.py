"""Analytics: events recorded along a shopper's journey, and what the console reads of them."""
