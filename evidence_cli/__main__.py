from evidence_cli.cli import main

main()
