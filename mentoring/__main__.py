from mentoring.cli import main

main()
