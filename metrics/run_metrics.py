"""`python -m metrics.run_metrics`: the `stylegan-metrics` command (`cli.metrics`), kept as an entry point."""
if __name__ == "__main__":
    from cli.metrics import run_main
    run_main()
