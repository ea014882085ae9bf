"""Code that exists only for speed. Each module names its plain twin and the test that proves
the two give the same results."""
