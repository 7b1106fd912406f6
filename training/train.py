"""`python -m training.train`: the `stylegan-train` command (`cli.train`), kept as an entry point."""
if __name__ == "__main__":
    from cli.train import run_main
    run_main()
