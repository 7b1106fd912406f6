"""`python -m stylegan_tf.bench`: the `stylegan-bench` command (`cli.bench`), kept as an entry point."""
if __name__ == "__main__":
    from cli.bench import run_main
    run_main()
