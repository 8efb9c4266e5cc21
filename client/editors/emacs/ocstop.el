;;; ocstop.el --- Stop OpenCode sessions through ocstopd -*- lexical-binding: t; -*-

;; Keywords: tools, processes
;; Package-Requires: ((emacs "25.1"))

;;; Commentary:

;; Stops the OpenCode sessions of the current buffer's project, or all of
;; them, by running the `ocstop' CLI asynchronously: Emacs never waits for
;; the stop's proof; the result comes as a message once the CLI has it.
;;
;;   M-x ocstop-stop       the running sessions of `default-directory'
;;   M-x ocstop-stop-all   every running session
;;   M-x ocstop-status     what the daemon knows, in a buffer
;;
;; No key is bound; for example:
;;   (global-set-key (kbd "C-c x") #'ocstop-stop)

;;; Code:

(require 'seq)

(defgroup ocstop nil
  "Stop OpenCode sessions through the ocstopd daemon."
  :group 'tools
  :prefix "ocstop-")

(defcustom ocstop-command "ocstop"
  "The ocstop CLI: a file name, or a program on the variable `exec-path'."
  :type 'string)

(defcustom ocstop-socket nil
  "The daemon's socket, or nil for the CLI's own rule.
That rule is $OCSTOP_SOCKET, else $XDG_RUNTIME_DIR/ocstop/ocstop.sock,
else /tmp/ocstop-$UID/ocstop.sock."
  :type '(choice (const :tag "The CLI's default" nil) file))

(defconst ocstop--status-buffer "*ocstop status*"
  "The buffer `ocstop-status' shows its table in.")

(defun ocstop--argv (program args)
  "Return the command line of PROGRAM, the CLI, given ARGS."
  (append (list program)
          (and ocstop-socket (list "-s" (expand-file-name ocstop-socket)))
          args))

(defconst ocstop--max-parts 4
  "Parts of a stop's one-line message: more would not fit the echo area.")

(defconst ocstop--verified "\\`stopped .* in \\([0-9]+\\) ms (verified)\\'"
  "The CLI's line for a verified stop; group 1 is its time in ms.")

(defun ocstop--summary (text)
  "TEXT, the CLI's output, as one line.
The line of each stopped tree is kept, the indented details left out,
and the CLI's own \"ocstop: \" prefixes dropped.  Several verified stops
read as one, with the slowest's time (\"stopped 3 sessions in 28 ms
\(verified)\"); the other lines (not stopped, not found, errors) follow,
`ocstop--max-parts' in all."
  (let (stopped others (ms 0) parts)
    (dolist (line (split-string text "\n" t))
      (unless (string-match-p "\\`[ \t]" line)
        (setq line (replace-regexp-in-string "\\`ocstop: " "" line))
        (if (not (string-match ocstop--verified line))
            (push line others)
          (push line stopped)
          (setq ms (max ms (string-to-number (match-string 1 line)))))))
    (setq parts (append (if (cdr stopped)
                            (list (format "stopped %d sessions in %d ms (verified)"
                                          (length stopped) ms))
                          stopped)
                        (nreverse others)))
    (when (> (length parts) ocstop--max-parts)
      (setq parts (append (seq-take parts (1- ocstop--max-parts))
                          (list (format "and %d more"
                                        (- (length parts) (1- ocstop--max-parts)))))))
    (mapconcat #'identity parts "; ")))

(defun ocstop--run (args on-done)
  "Run the CLI with ARGS in `default-directory', without waiting.
Once it has exited, call ON-DONE with its exit status and output."
  (let ((program (executable-find ocstop-command)))
    (cond
     ((file-remote-p default-directory)
      (user-error "Not a local directory: %s; ocstop stops local sessions"
                  default-directory))
     ((not (file-directory-p default-directory))
      (user-error "The directory is gone: %s" default-directory))
     ((not program)
      (user-error "Cannot run `%s' (set `ocstop-command')"
                  ocstop-command)))
    (let ((buffer (generate-new-buffer " *ocstop-output*")))
      (make-process
       :name "ocstop"
       :buffer buffer
       :command (ocstop--argv program args)
       :connection-type 'pipe
       :noquery t
       :sentinel
       (lambda (process _event)
         (unless (process-live-p process)
           (unwind-protect
               (funcall on-done (process-exit-status process)
                        (with-current-buffer buffer (buffer-string)))
             (kill-buffer buffer))))))))

(defun ocstop--report (status output)
  "Show the result of a stop: STATUS, the CLI's exit status, and its OUTPUT.
A failure shows in the face `error'."
  (let ((summary (ocstop--summary output)))
    (if (eq status 0)
        (message "ocstop: %s" summary)
      (message "%s" (propertize
                     (concat "ocstop: "
                             (if (string= summary "")
                                 (format "failed with exit status %s" status)
                               summary))
                     'face 'error)))))

;;;###autoload
(defun ocstop-stop (&optional sessions)
  "Stop the running OpenCode sessions of the current project.
The project is `default-directory': the sessions whose directory is it
or contains it.  With a prefix argument, read SESSIONS, the ids of the
sessions to stop with their trees, instead.  The result comes as a
message."
  (interactive
   (list (and current-prefix-arg
              (split-string (read-string "Stop sessions: ") nil t))))
  (ocstop--run (cons "abort" sessions) #'ocstop--report))

;;;###autoload
(defun ocstop-stop-all ()
  "Stop every running OpenCode session.  The result comes as a message."
  (interactive)
  (ocstop--run '("abort" "--all") #'ocstop--report))

;;;###autoload
(defun ocstop-status ()
  "Show the OpenCode servers and sessions the daemon knows, in a buffer."
  (interactive)
  (ocstop--run
   '("status")
   (lambda (status output)
     (if (not (eq status 0))
         (ocstop--report status output)
       (with-current-buffer (get-buffer-create ocstop--status-buffer)
         (let ((inhibit-read-only t))
           (erase-buffer)
           (insert output))
         (special-mode)
         (goto-char (point-min))
         (display-buffer (current-buffer)))))))

(provide 'ocstop)

;;; ocstop.el ends here
