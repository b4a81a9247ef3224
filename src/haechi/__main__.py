from haechi.cli import main

main()
