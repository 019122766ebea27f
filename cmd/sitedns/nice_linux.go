package main

import "syscall"

// lowerPriority gives the calling OS thread (locked to its goroutine) nice
// compileNice. On Linux setpriority with a thread id applies to that thread
// alone. Best effort: a failure leaves the thread as it was.
func lowerPriority() {
	_ = syscall.Setpriority(syscall.PRIO_PROCESS, syscall.Gettid(), compileNice)
}
