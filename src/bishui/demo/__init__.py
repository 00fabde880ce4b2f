"""The Jingmen model city: configuration, synthetic data, and the `bishui demo` command."""
