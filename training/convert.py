"""`python -m training.convert`: the `stylegan-convert` command (`cli.convert`), kept for existing scripts."""

if __name__ == "__main__":
    from cli.convert import run_main
    run_main()
