"""The memory category: `groups` registers its groups of checks; the other modules measure them."""
