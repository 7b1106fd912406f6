"""`python -m training.export`: the `stylegan-export` command (`cli.export`), kept for existing scripts."""

if __name__ == "__main__":
    from cli.export import run_main
    run_main()
