"""Plausible wrong answers for each graded part, one module per assignment.

Each module defines MUTANTS: {solution cell grade_id: {mutant name: code}}. The grading
pipeline test submits each as a student of its own and checks that it loses points;
the kill rate per assignment is printed.
"""
