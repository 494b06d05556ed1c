from examsync.cli import main

main()
