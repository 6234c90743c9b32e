from heard.cli import main

main()
