"""`make release`: regenerate exercises/ (the student notebooks) from solutions/."""

from cvbook.grading.course import release

if __name__ == "__main__":
    for name in release():
        print(f"released exercises/{name}/")
