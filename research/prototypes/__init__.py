"""The prototype catalogue: each module holds one prototype function and its spec."""
