"""The chat system built on Chronicle: messages, users, projects and tickets."""
