// fork() (docs/design.md 7): pthread_atfork handlers, registered by
// Runtime(), keep the stack with the parent (the child's inherited sockets
// go inert and its new AF_INET sockets go to the kernel) or, with
// SHUNT_FORK=child, hand it to the child.
#include <unistd.h>

#include "preload/control_server.h"
#include "preload/runtime.h"

namespace shunt::preload {

void Runtime::before_fork() {
  mu_.lock();
}

void Runtime::after_fork_parent() {
  if (started_ && owns_stack_ && config_.fork == Config::ForkPolicy::kChild) {
    // SHUNT_FORK=child: the child takes the stack; our sockets go inert.
    owns_stack_ = false;
    fds_.for_each_socket([](SocketFile* sf) { sf->inert = true; });
    if (thread_ != nullptr) thread_->stop();
    stop_control();  // the child serves its own, under its pid
  }
  mu_.unlock();
}

void Runtime::after_fork_child() {
  if (started_ && owns_stack_) {
    if (config_.fork == Config::ForkPolicy::kChild) {
      // The parent's stack thread did not come along: start ours.
      owner_pid_ = getpid();
      if (thread_ != nullptr) thread_->start();
      if (control_) {
        control_->abandon();
        control_.reset();
        control_fd_.store(-1);
        start_control();
      }
    } else {
      // Default: the parent keeps the stack. Inherited sockets are inert
      // and new AF_INET sockets in this process go to the kernel.
      owns_stack_ = false;
      fds_.for_each_socket([](SocketFile* sf) { sf->inert = true; });
      if (control_) {
        control_->abandon();  // the parent's socket file and thread
        control_.reset();
        control_fd_.store(-1);
      }
    }
  }
  mu_.unlock();
}

}  // namespace shunt::preload
