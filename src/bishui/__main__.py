from bishui.cli import main

main()
