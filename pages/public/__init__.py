"""Pages anyone may open: sign-in, activation, setup, forgot password, the registration wizard."""
