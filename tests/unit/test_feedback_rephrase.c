/*
 * The rephrase detector on a table of labelled message pairs: rephrasings (reworded,
 * re-cased, re-punctuated, with typos) and distinct questions (many sharing
 * boilerplate). Prints precision and recall; both must be at least 0.9.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "rephrase.h"

static const struct {
    const char *a, *b;
    int rephrase;
} pairs[] = {
    /* rephrasings */
    {"How do I reset my password?", "how can i reset the password", 1},
    {"How do I reset my password?", "HOW DO I RESET MY PASSWORD???", 1},
    {"What is the capital of Australia?", "whats the capital city of australia", 1},
    {"Explain how a hash table works", "can you explain how hash tables work?", 1},
    {"Write a python function to reverse a string",
     "write a function in python that reverses a string", 1},
    {"Why is my docker container exiting immediately?",
     "my docker container exits immediately, why?", 1},
    {"How do I center a div in CSS?", "how to center a div with css", 1},
    {"Translate 'good morning' into Spanish", "please translate good morning to spanish", 1},
    {"What's the difference between TCP and UDP?", "difference between tcp and udp?", 1},
    {"Summarize this article about climate change", "can you summarise the climate change article",
     1},
    {"How many calories are in an avocado?", "how many calories does an avocado have", 1},
    {"Fix the null pointer exception in my Java code",
     "fix the nullpointer exception in my java code please", 1},
    {"How do I install numpy?", "how do i instal numpy", 1},
    {"What time zone is Tokyo in?", "which timezone is tokyo in?", 1},
    {"Recommend a good book about stoicism", "recommend me a good book on stoicism", 1},
    {"How do I merge two dictionaries in Python?", "merging two dicts in python how?", 1},
    {"What does HTTP 404 mean?", "what does a 404 http error mean", 1},
    {"Convert 100 fahrenheit to celsius", "100 fahrenheit in celsius?", 1},
    {"How do I cancel my subscription?", "i want to cancel my subscription", 1},
    {"Why is the sky blue?", "why is the sky blue??? explain again", 1},
    {"Show me how to sort a list in JavaScript", "how to sort a list in javascript", 1},
    {"What are the symptoms of the flu?", "what r the flu symptoms", 1},
    /* distinct questions, many sharing boilerplate */
    {"Can you help me with my password reset?", "Can you help me with my tax return?", 0},
    {"How do I reset my password?", "How do I change my email address?", 0},
    {"What is the capital of Australia?", "What is the population of Canada?", 0},
    {"Explain how a hash table works", "Explain how a linked list works", 0},
    {"Write a python function to reverse a string", "Write a python function to parse a date", 0},
    {"Why is my docker container exiting immediately?", "Why is my laptop fan so loud?", 0},
    {"How do I center a div in CSS?", "How do I read a file in Rust?", 0},
    {"Translate 'good morning' into Spanish", "Translate 'thank you' into Japanese", 0},
    {"What's the difference between TCP and UDP?", "What's the difference between RAM and ROM?", 0},
    {"Summarize this article about climate change", "Summarize this article about the stock market",
     0},
    {"How many calories are in an avocado?", "How many moons does Jupiter have?", 0},
    {"Please can you tell me the weather in Paris", "Please can you tell me a joke", 0},
    {"I need help with my order", "I need help with my account settings", 0},
    {"What time zone is Tokyo in?", "What language is spoken in Brazil?", 0},
    {"Recommend a good book about stoicism", "Recommend a good restaurant in Rome", 0},
    {"How do I merge two dictionaries in Python?", "How do I merge two branches in git?", 0},
    {"What does HTTP 404 mean?", "What does HTTP 500 mean?", 0},
    {"Convert 100 fahrenheit to celsius", "Convert 5 miles to kilometers", 0},
    {"How do I cancel my subscription?", "How do I upgrade my subscription plan?", 0},
    {"thanks!", "ok", 0},
    /* the same template about another thing is a new question */
    {"Who wrote Macbeth?", "Who wrote Othello?", 0},
    {"What is the capital of France?", "What is the capital of Germany?", 0},
    {"How tall is the Eiffel Tower?", "How tall is the Empire State Building?", 0},
    {"Tell me a fact about dolphins", "Tell me a fact about penguins", 0},
    {"Who wrote Macbeth?", "who wrote macbeth, again?", 1},
    {"Why is the sky blue?", "Why is the ocean salty?", 0},
    {"Show me how to sort a list in JavaScript", "Show me how to deploy a Flask app", 0},
};

static void test_precision_and_recall(void **state)
{
    size_t tp = 0, fp = 0, fn = 0, n = sizeof(pairs) / sizeof(pairs[0]);
    for (size_t i = 0; i < n; i++) {
        double s =
            sy_rephrase_similarity(pairs[i].a, strlen(pairs[i].a), pairs[i].b, strlen(pairs[i].b));
        int got = s >= SY_REPHRASE_THRESHOLD;
        if (got != pairs[i].rephrase)
            printf("  miss (%s, sim %.2f): \"%s\" / \"%s\"\n",
                   pairs[i].rephrase ? "rephrase" : "distinct", s, pairs[i].a, pairs[i].b);
        tp += got && pairs[i].rephrase;
        fp += got && !pairs[i].rephrase;
        fn += !got && pairs[i].rephrase;
    }
    double precision = (double)tp / (double)(tp + fp), recall = (double)tp / (double)(tp + fn);
    printf("rephrase detector on %zu labelled pairs: precision %.3f, recall %.3f\n", n, precision,
           recall);
    assert_true(n >= 40);
    assert_true(precision >= 0.9);
    assert_true(recall >= 0.9);
}

static void test_edge_cases(void **state)
{
    assert_false(sy_is_rephrase("", 0, "", 0));
    assert_false(sy_is_rephrase("please", 6, "please", 6)); /* boilerplate only */
    const char *q = "Reset my password";
    assert_true(sy_is_rephrase(q, strlen(q), q, strlen(q)));
    char big[10000];
    memset(big, 'a', sizeof(big));
    assert_true(sy_rephrase_similarity(big, sizeof(big), big, sizeof(big)) >= 0.99);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_precision_and_recall),
        cmocka_unit_test(test_edge_cases),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
