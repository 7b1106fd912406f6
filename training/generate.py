"""`python -m training.generate`: the `stylegan-generate` command (`cli.generate`), kept for existing scripts."""

if __name__ == "__main__":
    from cli.generate import run_main
    run_main()
