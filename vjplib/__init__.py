"""vjplib: a small reverse- and forward-mode autodiff library (being written)."""
