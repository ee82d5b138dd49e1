"""The shop's catalog: imports from feeds, the product store, and the showroom's picks."""
