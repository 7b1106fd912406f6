"""`python -m training.dataset_tool`: the `stylegan-dataset` command (`cli.dataset`) under its official module name."""

if __name__ == "__main__":
    from cli.dataset import run_main
    run_main()
